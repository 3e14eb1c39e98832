"""Kubeconfig files: `files` (read, parse, write), `entries` (what update-kubeconfig writes) and
`migrate` (what migrate-kubeconfig rewrites). Everything else a file holds is kept."""
