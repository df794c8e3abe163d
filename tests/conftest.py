pytest_plugins = ["dumont_iac.testing.sandbox", "dumont_iac.testing.fixtures"]
