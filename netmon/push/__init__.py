"""Routers that push (issue 14, part 4; docs/push.md): the endpoint routers post their heartbeat to
(`endpoint`), its per-device rate limit (`ratelimit`), and the watch that turns a silent router into failed
polls (`watch`). The body's format and its samples are in collectors.push."""
