/* The classic: printf through stdio, then return 0. */
#include <stdio.h>

int main(void)
{
    printf("hello, world\n");
    return 0;
}
