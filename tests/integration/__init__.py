"""The real engine driven end to end by real clients: the official Python SDK, openai-agents,
the JavaScript Agents SDK, WebRTC callers, and rtnb.Session under faults."""
