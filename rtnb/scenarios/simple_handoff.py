"""Simple handoff: a greeter that passes the user on to a haiku writer (one way, no tools)."""

from __future__ import annotations

from ..agents import Agent
from . import Scenario

GREETER_INSTRUCTIONS = """\
You are the greeter at a small poetry corner. Be warm and brief.
Greet the user with "Hi there! Would you like me to write you a haiku?"
Ask them if they'd like a haiku. If they say yes, or name something to write about, hand off
to the haikuWriter agent. If they say no, chat for a moment and wish them a good day.
"""

HAIKU_INSTRUCTIONS = """\
You write haiku and nothing else. Ask the user for a topic, then answer with a single haiku
about it: three lines of five, seven and five syllables, with no title or explanation.
After each haiku, offer to write another one.
"""


def build() -> Scenario:
    """The greeter → haikuWriter scenario."""
    haiku_writer = Agent(name="haikuWriter", instructions=HAIKU_INSTRUCTIONS,
                         handoff_description="Writes a short haiku about any topic the user "
                                             "picks.")
    greeter = Agent(name="greeter", instructions=GREETER_INSTRUCTIONS, handoffs=[haiku_writer],
                    handoff_description="Greets the user and offers a haiku.")
    return Scenario(
        name="simple_handoff",
        title="Simple handoff (greeter → haiku writer)",
        description=("The greeter welcomes the user and offers a haiku; on a yes it hands off, "
                     "one way, to the haikuWriter agent. Neither agent has tools."),
        root=greeter,
        sample_lines=["Hi!", "Yes please!", "The first snow of winter.",
                      "Now one about the ocean."],
    )
