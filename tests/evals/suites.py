"""Small suites the eval tests share."""

#: Two text-mode calls on the simple handoff scenario; the second has a planted wrong
#: expectation (the call hands off to the haiku writer, not back to the greeter).
PLANTED = """\
agent: scenario:simple_handoff
mode: text
calls:
  - name: greets
    turns:
      - say: "Hi!"
        expect: {reply_contains: [haiku]}
  - name: planted wrong handoff
    turns:
      - say: "Hi!"
      - say: "Yes please!"
        expect:
          handoff: greeter
          reply_matches: "(?i)topic"
"""
