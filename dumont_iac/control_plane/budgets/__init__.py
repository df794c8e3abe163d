"""Budget enforcement: what a budget's scope bills, its alerts and its action at the limit."""
