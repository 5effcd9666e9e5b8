#include "pin.h"

#include <errno.h>
#include <seccomp.h>
#include <sys/prctl.h>

int pin_install(void)
{
	scmp_filter_ctx ctx;
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/* Without the x86 ABI an int 0x80 setsid would hit the bad-arch action and kill the process. */
	r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
	if (r < 0 && r != -EEXIST)
		goto out;
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), SCMP_SYS(setsid), 0);
	if (r < 0)
		goto out;
	r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r < 0 ? r : 0;
}
