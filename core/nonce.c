/*
 * Replay nonces. A nonce is one AES-128 block, encrypted under the nonce
 * table's key: the plaintext is a 64-bit counter from the shared table and
 * the table's 64-bit epoch. So a nonce is 128 bits that look random (a
 * pseudo-random permutation of a counter), any worker can check it without a
 * lookup, a forged one decrypts to a wrong epoch (odds 2^-64), and
 * single use is one atomic bit in the shared table (store_nonces_consume).
 * Nothing is written to disk per nonce.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/b64.h"
#include "core/internal.h"
#include "core/log.h"

enum acme_err
acme_nonce_init(struct acme_ctx *ctx)
{
	char *path = NULL;
	enum acme_err rc = ACME_ESTORE;
	const unsigned char *key;

	if ((path = acme_state_file(ctx->cfg, "run/nonces.map")) == NULL)
		return ACME_ENOMEM;
	if (store_nonces_open(path, &ctx->nonces) != STORE_OK)
		goto out;
	key = store_nonces_key(ctx->nonces);
	ctx->nonce_epoch = store_nonces_epoch(ctx->nonces);
	rc = ACME_ECRYPTO;
	if ((ctx->nonce_enc = EVP_CIPHER_CTX_new()) == NULL ||
	    (ctx->nonce_dec = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx->nonce_enc, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx->nonce_dec, EVP_aes_128_ecb(), NULL, key, NULL) != 1) {
		acme_log_ssl("nonce: cipher");
		goto out;
	}
	EVP_CIPHER_CTX_set_padding(ctx->nonce_enc, 0);
	EVP_CIPHER_CTX_set_padding(ctx->nonce_dec, 0);
	rc = ACME_OK;
out:
	free(path);
	return rc;
}

void
acme_nonce_fini(struct acme_ctx *ctx)
{
	EVP_CIPHER_CTX_free(ctx->nonce_enc);
	EVP_CIPHER_CTX_free(ctx->nonce_dec);
	store_nonces_close(ctx->nonces);
	ctx->nonce_enc = ctx->nonce_dec = NULL;
	ctx->nonces = NULL;
}

static void
put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static uint64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

enum acme_err
acme_nonce_new(struct acme_ctx *ctx, char out[24])
{
	unsigned char plain[16], enc[16];
	int n = 0;

	put_be64(plain, store_nonces_next(ctx->nonces));
	put_be64(plain + 8, ctx->nonce_epoch);
	if (EVP_EncryptUpdate(ctx->nonce_enc, enc, &n, plain, sizeof(plain)) != 1 || n != 16) {
		acme_log_ssl("nonce: encrypt");
		return ACME_ECRYPTO;
	}
	b64u_encode_buf(enc, sizeof(enc), out);
	return ACME_OK;
}

int
acme_nonce_check(struct acme_ctx *ctx, const char *nonce, struct acme_problem *p)
{
	unsigned char enc[16], plain[16];
	size_t len = 0, nlen = strlen(nonce);
	int n = 0;

	/* A malformed nonce is answered with badNonce, as Boulder does, so that
	 * clients retry with the fresh one in the response (documented). */
	if (nlen != 22 || b64u_decode_buf(nonce, nlen, enc, sizeof(enc), &len) != ACME_OK ||
	    len != 16)
		return acme_problem_set(p, PROB_BAD_NONCE, "JWS has an invalid anti-replay nonce");
	if (EVP_DecryptUpdate(ctx->nonce_dec, plain, &n, enc, sizeof(enc)) != 1 || n != 16) {
		acme_log_ssl("nonce: decrypt");
		return acme_problem_set(p, PROB_SERVER_INTERNAL, "nonce check failed");
	}
	if (get_be64(plain + 8) != ctx->nonce_epoch)
		return acme_problem_set(p, PROB_BAD_NONCE, "JWS has an invalid anti-replay nonce");
	switch (store_nonces_consume(ctx->nonces, get_be64(plain))) {
	case STORE_NONCE_FRESH:
		return 0;
	case STORE_NONCE_USED:
		return acme_problem_set(p, PROB_BAD_NONCE, "JWS has an anti-replay nonce that was already used");
	default:
		return acme_problem_set(p, PROB_BAD_NONCE, "JWS has an expired anti-replay nonce");
	}
}
