"""One subpackage per external system; each registers a plugin under ``lockgate.adapters``."""
