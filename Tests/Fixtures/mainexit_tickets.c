/*
 * The leak site of the mainexit fixture, in a library the worker dlopens only
 * after the main thread has exited: symbolizing it takes a fresh look at the
 * process's memory map, which /proc/PID/maps no longer gives.
 */
#include <stdlib.h>
#include <string.h>

#define TICKET_SIZE 3001

__attribute__((noinline)) void *make_ticket(void) {
    void *ticket = malloc(TICKET_SIZE);
    memset(ticket, 0x3c, TICKET_SIZE);
    return ticket;
}
