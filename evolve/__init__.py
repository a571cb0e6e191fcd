"""evolve: LLM-driven evolutionary discovery of systems algorithms."""

__version__ = "0.1.0"

import os as _os

# litellm fetches its model price map from the network at import unless told not to;
# these machines may be offline, and the bundled map is what cost accounting uses.
_os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
