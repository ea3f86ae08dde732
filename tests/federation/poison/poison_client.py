"""A ClientApp for tests: MedHive's own client, except that a node whose node config says
`test-poison = "nan" | "inf" | "shape"` sends a malformed update instead of its real one (what a buggy or
hostile hospital could send). Bundled into a test app folder beside a copy of federation/app/pyproject.toml."""

from __future__ import annotations

import numpy as np
from flwr.clientapp import ClientApp

from federation.client_app import HospitalClient, _node, optional_secaggplus_mod


class PoisonedClient(HospitalClient):
    def fit(self, parameters, config):  # type: ignore[override]
        update, n, metrics = super().fit(parameters, config)
        kind = str(self.context.node_config.get("test-poison", ""))
        if kind == "nan":
            update[0] = np.full_like(update[0], np.nan)
        elif kind == "inf":
            update[-1] = np.full_like(update[-1], np.inf)
        elif kind == "shape":
            update = [*update, np.ones(3, dtype=np.float32)]
        return update, n, metrics


app = ClientApp(client_fn=lambda context: PoisonedClient(_node(context), context).to_client(),
                mods=[optional_secaggplus_mod])
