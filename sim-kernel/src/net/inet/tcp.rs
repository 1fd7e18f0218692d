//! TCP over loopback, modelled as pairs of in-kernel endpoints.
//!
//! A connection is two PCBs that name each other ([`Tcp::peer`]). A
//! `connect` finds the listener the SYN would reach (`in_pcblookup_bind`
//! order) and completes the whole handshake in the call: the listener gets
//! a new, established PCB on its accept queue (as the SYN cache's
//! `syn_cache_get` makes one, with the listener's options and buffer sizes)
//! and the client is established. No listener: the RST that comes back
//! drops the client (`tcp_drop` → `tcp_close`), ECONNREFUSED, and the PCB
//! is gone, so every later request on the socket is EINVAL
//! (`tcp_usrreq` with no inpcb).
//!
//! Data: a send appends to the sender's send buffer (SO_SNDBUF bytes at
//! most) and moves at once into the peer's receive buffer as far as its
//! SO_RCVBUF allows; what stays in the send buffer moves on as the peer
//! reads. A FIN (shutdown(SHUT_WR), close) is an end-of-file the peer sees
//! after the data before it. Closing with unread received data sends an RST
//! instead (tcp_usrreq PRU_DETACH → tcp_disconnect with so_linger 0 /
//! unread data → tcp_drop): the peer's next receive is ECONNRESET. Closing a
//! listener aborts the connections no one accepted (the same RST to their
//! clients). Urgent data (MSG_OOB) puts its last byte out of band, as
//! `tcp_pulloutofband` takes it out of the stream without SO_OOBINLINE.
//!
//! Deliberate differences from NetBSD's timers: there are none. The
//! handshake, FIN and RST exchanges that NetBSD runs in softints a moment
//! after the call happen inside the call (a non-blocking connect still
//! answers EINPROGRESS, with its outcome ready at once); there is no
//! retransmission, delayed ACK, keepalive or persist timer; a SYN to a full
//! accept queue fails the connect with ETIMEDOUT at once instead of after
//! the 75-second connection timer; a closed PCB leaves the table at once
//! (TIME_WAIT and FIN_WAIT states are not kept; as a TIME_WAIT connection
//! of an accepted socket is not in the port list either, no bind can tell).

