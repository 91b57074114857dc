/* Time-dependent states of EAB keys and certificates, for lists and stats. */
#include "admin/state.h"

const char *
state_eab(const struct store_eab *e, int64_t now)
{
	if (e->revoked)
		return "revoked";
	if (e->expires != 0 && e->expires <= now)
		return "expired";
	if (!e->reusable && e->uses > 0)
		return "used";
	return "usable";
}

const char *
state_cert(const struct store_cert *c, int64_t now)
{
	if (c->revoked)
		return "revoked";
	return c->not_after != 0 && c->not_after < now ? "expired" : "valid";
}
