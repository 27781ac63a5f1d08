// Loaded with LD_PRELOAD by scripts/text-order: records which pages of the executable's code a process runs, in
// the order it first runs each, as 8-byte offsets from the executable's load address in $TEXTTRACE_OUT.PID.
//
// Before the executable's own initialisers run, its code is made readable but not executable. Running a page then
// faults once: the handler notes the page, makes it executable again and returns, and the instruction runs. Only
// processes whose command line contains $TEXTTRACE_MATCH are traced. Set SWIFT_BACKTRACE=enable=no, so that the
// Swift runtime does not take SIGSEGV over.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uintptr_t load_address, code_start, code_end;
static int trace_file = -1;

static void on_fault(int signal_number, siginfo_t *info, void *context) {
    (void)context;
    uintptr_t page = (uintptr_t)info->si_addr & ~(uintptr_t)4095;
    if (page < code_start || page >= code_end) {
        // A fault of the program's own: the default action follows when the instruction runs again.
        signal(signal_number, SIG_DFL);
        return;
    }
    mprotect((void *)page, 4096, PROT_READ | PROT_EXEC);
    uint64_t offset = page - load_address;
    (void)!write(trace_file, &offset, sizeof offset);
}

static int traced(void) {
    const char *match = getenv("TEXTTRACE_MATCH");
    if (!match) return 1;
    char command[8192];
    int file = open("/proc/self/cmdline", O_RDONLY);
    if (file < 0) return 0;
    ssize_t length = read(file, command, sizeof command - 1);
    close(file);
    if (length <= 0) return 0;
    for (ssize_t index = 0; index < length; index++)
        if (command[index] == 0) command[index] = ' ';
    command[length] = 0;
    return strstr(command, match) != NULL;
}

__attribute__((constructor(101))) static void start_tracing(void) {
    const char *output = getenv("TEXTTRACE_OUT");
    if (!output || !traced()) return;
    char executable[4096];
    ssize_t length = readlink("/proc/self/exe", executable, sizeof executable - 1);
    if (length <= 0) return;
    executable[length] = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return;
    char line[8192];
    while (fgets(line, sizeof line, maps)) {
        unsigned long low, high, offset;
        char permissions[8], path[4096] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &low, &high, permissions, &offset, path) < 4) continue;
        if (strcmp(path, executable) != 0) continue;
        if (offset == 0 && !load_address) load_address = low;
        if (permissions[2] == 'x') { code_start = low; code_end = high; }
    }
    fclose(maps);
    if (!code_start || !load_address) return;
    char name[4200];
    snprintf(name, sizeof name, "%s.%d", output, (int)getpid());
    trace_file = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (trace_file < 0) return;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &action, NULL);
    // This function returns into ld.so, not into the executable, so the executable's code can stop being executable.
    mprotect((void *)code_start, code_end - code_start, PROT_READ);
}
