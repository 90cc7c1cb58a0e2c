from tests.event.conftest import api, world  # noqa: F401  (English spaces and API clients)
