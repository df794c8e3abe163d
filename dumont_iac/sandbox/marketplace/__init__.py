"""The stand-in marketplace (the Vast.ai REST API): routes, store, market and its rules."""
