"""MedHive federation: Flower Deployment-Engine training across hospital nodes.

Layout: `data/` loads and validates a hospital's local data (identifier scan included); `training.py`
and `dp.py` are framework-free local training with optional DP-SGD; `accountant.py` turns noise into
(epsilon, delta); `aggregation.py` holds the server-side strategies; `gate.py` and `tracking.py`
publish through the validation gate and log to MLflow; `server_app.py` / `client_app.py` are the thin
Flower glue; `launcher.py` starts a SuperLink and SuperNodes on loopback and runs `flwr run`.
"""
