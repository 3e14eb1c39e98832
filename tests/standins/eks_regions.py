"""A loopback stand-in for EKS in many regions at once, and EC2 DescribeRegions, for
`update-kubeconfig --all`: one URL for AWS_ENDPOINT_URL_EKS and AWS_ENDPOINT_URL_EC2.

botocore sends every region's calls to that one URL; the region is read from the SigV4
credential scope of the Authorization header (`Credential=AKID/DATE/REGION/eks/aws4_request`).
The signature itself is not checked here (eks_control.py and sts.py do that).

- EKS ListClusters `GET /clusters?maxResults=N[&nextToken=T]` (pages of `maxResults`) and
  DescribeCluster `GET /clusters/NAME`, REST-JSON, as botocore's eks model has them.
- EC2 DescribeRegions `POST /` (query protocol, `Action=DescribeRegions`), XML.

Knobs: `delay` seconds before every answer; `hang` regions whose calls are accepted and never
answered (until the server stops, which releases them); `deny_regions` answered with
AccessDeniedException; `deny_describe_regions` answers EC2 UnauthorizedOperation.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, unquote

from ._server import DEFAULT_MAX_LIFETIME, StandInHandler, StandInServer

ACCOUNT = "111122223333"
CA_DATA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")


class _Handler(StandInHandler):
    protocol_version = "HTTP/1.1"  # botocore keeps connections open; so do we

    def _region(self) -> str:
        found = _SCOPE.search(self.headers.get("Authorization", ""))
        return found.group(1) if found else ""

    def _wait(self, region: str) -> bool:
        server: EksRegionsServer = self.standin
        server.seen.append(region)
        if region in server.hang:
            server.released.wait(server.max_lifetime)
            self.close_connection = True
            return False
        if server.delay:
            time.sleep(server.delay)
        return True

    def do_GET(self) -> None:
        server: EksRegionsServer = self.standin
        region = self._region()
        if not self._wait(region):
            return
        path, query = self.split_path()
        if region in server.deny_regions:
            message = f"User is not authorized to perform: eks:ListClusters in {region}"
            self._error(403, "AccessDeniedException", message)
            return
        clusters = server.clusters.get(region, {})
        if path == "/clusters":
            params = dict(parse_qsl(query))
            names = sorted(clusters)
            size = int(params.get("maxResults", "100"))
            start = int(params.get("nextToken", "0"))
            page: dict[str, Any] = {"clusters": names[start : start + size]}
            if start + size < len(names):
                page["nextToken"] = str(start + size)
            self.respond_json(200, page)
        elif path.startswith("/clusters/") and unquote(path[10:]) in clusters:
            name = unquote(path[10:])
            self.respond_json(200, {"cluster": _describe(region, name, clusters[name])})
        else:
            self._error(404, "ResourceNotFoundException", f"No cluster found for {path}")

    def do_POST(self) -> None:
        server: EksRegionsServer = self.standin
        body = self.read_body().decode()
        if not self._wait(self._region()):
            return
        if dict(parse_qsl(body)).get("Action") != "DescribeRegions":
            self._error(400, "InvalidAction", "only DescribeRegions is served")
            return
        if server.deny_describe_regions:
            xml = (
                "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are "
                "not authorized to perform this operation.</Message></Error></Errors>"
                "<RequestID>r</RequestID></Response>"
            )
            self.respond(403, xml.encode(), "text/xml")
            return
        items = "".join(
            f"<item><regionName>{r}</regionName><regionEndpoint>ec2.{r}.amazonaws.com"
            "</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>"
            for r in server.regions
        )
        xml = (
            '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
            f"<requestId>r</requestId><regionInfo>{items}</regionInfo></DescribeRegionsResponse>"
        )
        self.respond(200, xml.encode(), "text/xml")

    def _error(self, status: int, code: str, message: str) -> None:
        self.respond_json(status, {"message": message}, {"x-amzn-ErrorType": code})


def _describe(region: str, name: str, status: str) -> dict[str, Any]:
    return {
        "name": name,
        "arn": f"arn:aws:eks:{region}:{ACCOUNT}:cluster/{name}",
        "endpoint": f"https://{name.upper()}.gr7.{region}.eks.amazonaws.com",
        "status": status,
        "certificateAuthority": {"data": CA_DATA},
        "version": "1.31",
    }


class EksRegionsServer(StandInServer):
    """EKS in every region of `clusters` ({region: {name: status}}) on one loopback URL."""

    handler_class = _Handler

    def __init__(
        self,
        clusters: dict[str, dict[str, str]],
        *,
        regions: list[str] | None = None,
        max_lifetime: float = DEFAULT_MAX_LIFETIME,
    ) -> None:
        super().__init__(max_lifetime=max_lifetime)
        self.clusters = clusters
        self.regions = regions if regions is not None else sorted(clusters)
        self.delay = 0.0
        self.hang: set[str] = set()
        self.deny_regions: set[str] = set()
        self.deny_describe_regions = False
        self.seen: list[str] = []
        self.released = threading.Event()

    def stop(self) -> None:
        self.released.set()  # let hanging handlers go
        super().stop()
