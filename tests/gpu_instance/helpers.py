"""Settings of the GpuInstance tests' sandbox (``Market`` is in ``dumont_iac.testing``)."""

API_KEY = "sk-sandbox-gpu-3f9a1c77d2e04b6b"
SANDBOX = {"machines": 40, "speed": 200.0, "rate_limits": "off", "api_key": API_KEY}
# Settings from the test process's environment must not reach the provider process.
CLEAN_ENV = {"VAST_URL": "", "VAST_API_KEY": "", "DUMONT_PACING_SCALE": "0"}
