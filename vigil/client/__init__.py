"""Talking to a Vigil over its HTTP API, as any client would: posting points (`api`),
replaying a file as a live stream (`replay`, behind `vigil replay`) and the demo stream
`vigil run` starts (`demo`). Nothing here touches a store: only requests."""
