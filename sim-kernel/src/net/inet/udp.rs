//! UDP over loopback (sys/netinet/udp_usrreq.c, netinet6/udp6_usrreq.c):
//! datagrams go straight into the receiving PCB's queue.
//!
//! A send checks as sosend does (EPIPE after SHUT_WR, a pending error,
//! EDESTADDRREQ without a destination, EMSGSIZE above SO_SNDBUF), then as
//! udp_send does: an address on a connected socket EISCONN; otherwise the
//! socket is connected for the one datagram (`in_pcbconnect`: port 0, no
//! route and 255.255.255.255 without a broadcast interface are
//! EADDRNOTAVAIL; an unbound socket is bound to the wildcard and an
//! ephemeral port, and stays so). The receiver is found as udp_input finds
//! it (the 4-tuple of a connected PCB, then the bound address, then the
//! wildcard); its queue takes the datagram if its SO_RCVBUF has room for
//! the payload and the sender's sockaddr (sbappendaddr), else it is dropped.
//! No receiver: the ICMP port unreachable that comes back sets ECONNREFUSED
//! on the sender only if it is connected to that destination
//! (`in_pcbnotify` matches the foreign address), which its next receive or
//! SO_ERROR reports once.

