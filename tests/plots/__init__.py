"""Tests of rtnb.plots."""
