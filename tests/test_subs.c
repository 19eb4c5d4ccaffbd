#include "plugins/hosttest.h"
int main(void)
{
	return done_testing();
}
