"""What every sandbox service shares: the clock, injected faults, rate limits, responses."""
