"""Prometheus and Alertmanager configuration of the drift monitor.

The committed ``prometheus.yml`` and ``alertmanager.yml`` are the docker-compose variants;
``prometheus.config`` renders the same configuration for other addresses (the local stack, tests).
"""
