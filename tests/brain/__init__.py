"""Tests of the engine's text step (rtnb/engine/brain/)."""
