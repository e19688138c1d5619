"""Video delivery: pure parsing and planning of how a site serves a video (streams, byte ranges)."""
