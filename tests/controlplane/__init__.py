"""The tests' throwaway Kubernetes control plane (controlplane.py) and a test's view of it (session.py)."""
