"""Several netmon nodes on one database (issue #16): who is alive, which devices each polls, who leads.

`record` holds what the database says (nodes, leases), `rendezvous` the pure device sharing, `member` the
asyncio driver that heartbeats, shares and keeps the leader lease, `outbox` the outbox whose journal the nodes
share so that only the leader delivers and a hand-over loses nothing. The database side is
`netmon.storage.cluster.ClusterStore`; the driver receives it as an argument (SQLAlchemy stays under storage).
"""
