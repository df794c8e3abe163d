"""One thin router per resource; each reads and writes through the store's repositories."""
