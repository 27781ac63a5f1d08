// The Linux system calls the load driver needs that Swift's Glibc module does not export: epoll and timerfd.
#ifndef C_TALLY_LOAD_H
#define C_TALLY_LOAD_H

#ifdef __linux__
#include <sys/epoll.h>
#include <sys/timerfd.h>
#endif

#endif
