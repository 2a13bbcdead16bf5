from tests.transfers.chain import open_season  # noqa: F401  (fixture)
