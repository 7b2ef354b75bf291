"""Tests of rtnb.scenarios."""
