/* For the gdb tests: a global to watch, a loop to interrupt, a fault.
 * `gdb_cases` bumps the counter three times and prints it; `gdb_cases
 * spin` prints "spinning" and loops until a debugger changes `stop`;
 * `gdb_cases segv` reads address 16. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile long counter;
volatile int stop;

void bump(void)
{
    counter += 1;
}

long read_counter(void)
{
    return counter;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "spin") == 0) {
        write(1, "spinning\n", 9);
        while (!stop)
            counter++;
        return 3;
    }
    if (strcmp(what, "segv") == 0) {
        volatile int *p = (int *)16;
        return *p;
    }
    for (int i = 0; i < 3; i++)
        bump();
    printf("counter=%ld read=%ld\n", counter, read_counter());
    return 0;
}
