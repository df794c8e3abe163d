"""A local stand-in for the GPU marketplace (Vast.ai REST) that keeps its state in SQLite."""
