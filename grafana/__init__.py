"""Grafana for AI Drift Monitor: provisioning files, dashboards as code, and their tooling.

Layout:
- ``provisioning/``: datasource and dashboard-provider YAML that Grafana reads at start-up.
- ``dashboards.py`` builds the dashboards with grafana-foundation-sdk (``overview``,
  ``model_detail``, ``pipeline`` hold one dashboard each); the generated JSON is committed in
  ``dashboards/*.json`` so Grafana can load it without Python.
- ``lint``, ``queries``, ``variables`` and ``metrics`` check the JSON offline (uids, PromQL,
  metric names, variables, ids) and extract every query so tests can run it for real.
- ``publish`` and ``annotations`` talk to a running Grafana through grafana-client.
- ``cli`` is ``driftmon grafana build|lint|push``.

Nothing here imports the stream app or connects anywhere at import time.
"""
