"""Action handlers: one per JSON key, looked up in ``registry.ACTION_HANDLERS``."""
