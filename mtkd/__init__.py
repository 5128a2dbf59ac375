"""mtkd-verify."""
