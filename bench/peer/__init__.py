"""The side-by-side run: the seed's Node SDK workers next to ``medcam-console workers``."""
