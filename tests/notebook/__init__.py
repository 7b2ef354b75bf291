"""Tests of rtnb.notebook."""
