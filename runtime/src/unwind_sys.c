/* The unwind rule for one address, read from the unwind tables of the
 * object that holds it (unwind.h says what a rule is and who asks).
 *
 * glibc's _dl_find_object gives the object's PT_GNU_EH_FRAME segment
 * (.eh_frame_hdr): a table of the functions' start addresses, sorted, each
 * with its FDE in .eh_frame.  The FDE and its CIE hold a small program of
 * DWARF call-frame instructions (DWARF 5, section 6.4; the .eh_frame form in
 * the Linux Standard Base, "Exception Frames"); running it up to the address
 * gives the row we need.  Only what a walk uses is kept: the CFA (from rsp or
 * rbp plus an offset), where rbp was saved, and that the return address is
 * at CFA − 8.  Anything else (a CFA computed by an expression, as in PLT
 * stubs and signal trampolines) ends the walk there: a shorter chain, never
 * a wrong one.
 *
 * Everything here only reads memory of loaded objects, allocates nothing
 * and takes no lock (_dl_find_object is async-signal-safe), so the yield
 * sampler may call it from its signal handler.  Compiled without
 * -fsplit-stack: the worker calls it through cap__on_sysstack. */
#include "unwind.h"

#include <dlfcn.h>


/* DWARF register numbers (x86-64 psABI) and pointer encodings. */
enum { REG_RBP = 6, REG_RSP = 7, REG_RA = 16 };
enum {
	PE_ABSPTR = 0x00, PE_ULEB128 = 0x01, PE_UDATA2 = 0x02, PE_UDATA4 = 0x03, PE_UDATA8 = 0x04,
	PE_SLEB128 = 0x09, PE_SDATA2 = 0x0a, PE_SDATA4 = 0x0b, PE_SDATA8 = 0x0c,
	PE_PCREL = 0x10, PE_DATAREL = 0x30, PE_INDIRECT = 0x80, PE_OMIT = 0xff,
};

/* How a register is recovered: unchanged, lost, saved at CFA + off, or some
 * other way (not followed). */
enum { R_SAME, R_UNDEF, R_OFFSET, R_OTHER };
struct cap_reg_rule {
	uint8_t how;
	int64_t off;
};
struct cap_cfi_row {
	uint8_t cfa_reg;
	bool cfa_expr;
	int64_t cfa_off;
	struct cap_reg_rule rbp, ra;
};

struct cap_reader {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t cap__uleb(struct cap_reader *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; r->p < r->end; shift += 7) {
		uint8_t b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static int64_t cap__sleb(struct cap_reader *r)
{
	int64_t v = 0;
	unsigned shift = 0;
	while (r->p < r->end) {
		uint8_t b = *r->p++;
		if (shift < 64)
			v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				v |= -((int64_t)1 << shift);
			return v;
		}
	}
	r->bad = true;
	return 0;
}

static uint64_t cap__fixed(struct cap_reader *r, unsigned size)
{
	if ((size_t)(r->end - r->p) < size) {
		r->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += size;
	return v;
}

/* A pointer in encoding `enc`; `datarel` is the base of DW_EH_PE_datarel
 * (the .eh_frame_hdr table's; .eh_frame itself does not use it on x86-64). */
static uint64_t cap__encoded(struct cap_reader *r, uint8_t enc, uint64_t datarel)
{
	if (enc == PE_OMIT)
		return 0;
	uint64_t at = (uint64_t)(uintptr_t)r->p, v;
	switch (enc & 0x0f) {
	case PE_ABSPTR: v = cap__fixed(r, 8); break;
	case PE_ULEB128: v = cap__uleb(r); break;
	case PE_UDATA2: v = cap__fixed(r, 2); break;
	case PE_UDATA4: v = cap__fixed(r, 4); break;
	case PE_UDATA8: v = cap__fixed(r, 8); break;
	case PE_SLEB128: v = (uint64_t)cap__sleb(r); break;
	case PE_SDATA2: v = (uint64_t)(int64_t)(int16_t)cap__fixed(r, 2); break;
	case PE_SDATA4: v = (uint64_t)(int64_t)(int32_t)cap__fixed(r, 4); break;
	case PE_SDATA8: v = cap__fixed(r, 8); break;
	default: r->bad = true; return 0;
	}
	switch (enc & 0x70) {
	case 0: break;
	case PE_PCREL: v += at; break;
	case PE_DATAREL:
		if (!datarel) {
			r->bad = true;
			return 0;
		}
		v += datarel;
		break;
	default: r->bad = true; return 0; /* textrel, funcrel, aligned: not used on x86-64 Linux */
	}
	if (enc & PE_INDIRECT)
		r->bad = true; /* only personality pointers are indirect, and they are skipped */
	return v;
}

/* An .eh_frame entry (CIE or FDE) at p: its contents, and where the next
 * one starts.  False for the terminator or a malformed length. */
static bool cap__entry(const uint8_t *p, struct cap_reader *body, const uint8_t **id_at)
{
	struct cap_reader r = { p, p + 12, false };
	uint64_t len = cap__fixed(&r, 4);
	if (len == 0xffffffffu)
		len = cap__fixed(&r, 8);
	if (len == 0 || len > (1u << 30))
		return false;
	*id_at = r.p;
	body->p = r.p + 4;
	body->end = r.p + len;
	body->bad = false;
	return true;
}

struct cap_cie {
	uint64_t code_align;
	int64_t data_align;
	uint8_t fde_enc;
	bool has_aug_data;
	struct cap_reader insns;
};

/* The CIE at p.  Augmentations: 'z' (a length, so unknown letters after it
 * can be skipped), 'R' (the FDEs' pointer encoding), 'L' and 'P' (language
 * data and personality: skipped), 'S', 'B', 'G' (no data). */
static bool cap__parse_cie(const uint8_t *p, struct cap_cie *c)
{
	struct cap_reader r;
	const uint8_t *id_at;
	if (!cap__entry(p, &r, &id_at) || cap__fixed(&(struct cap_reader){ id_at, id_at + 4, false }, 4) != 0)
		return false;
	uint8_t version = (uint8_t)cap__fixed(&r, 1);
	const char *a = (const char *)r.p;
	while (r.p < r.end && *r.p)
		r.p++;
	r.p++;
	if (version != 1 && version != 3)
		return false;
	c->code_align = cap__uleb(&r);
	c->data_align = cap__sleb(&r);
	uint64_t ra_reg = version == 1 ? cap__fixed(&r, 1) : cap__uleb(&r);
	if (ra_reg != REG_RA)
		return false;
	c->fde_enc = PE_ABSPTR;
	c->has_aug_data = *a == 'z';
	const uint8_t *aug_end = NULL;
	if (c->has_aug_data) {
		uint64_t len = cap__uleb(&r);
		aug_end = r.p + len;
		a++;
	}
	for (; *a && !r.bad; a++) {
		if (*a == 'R')
			c->fde_enc = (uint8_t)cap__fixed(&r, 1);
		else if (*a == 'L')
			cap__fixed(&r, 1);
		else if (*a == 'P')
			cap__encoded(&r, (uint8_t)cap__fixed(&r, 1) & (uint8_t)~PE_INDIRECT, 0);
		else if (*a == 'S' || *a == 'B' || *a == 'G')
			continue;
		else if (aug_end)
			break;
		else
			return false;
	}
	if (aug_end)
		r.p = aug_end;
	if (r.bad || r.p > r.end)
		return false;
	c->insns = r;
	return true;
}

/* Runs call-frame instructions until the location passes `target`. */
#define CAP_CFI_STATES 8
static bool cap__run_cfi(struct cap_reader r, const struct cap_cie *c, uint64_t loc, uint64_t target,
			 struct cap_cfi_row *row, const struct cap_cfi_row *initial)
{
	struct cap_cfi_row saved[CAP_CFI_STATES];
	unsigned depth = 0;
	while (r.p < r.end && !r.bad) {
		uint8_t op = *r.p++;
		uint64_t reg = 0, delta = 0;
		int64_t off = 0;
		switch (op & 0xc0) {
		case 0x40: /* advance_loc */
			delta = op & 0x3f;
			goto advance;
		case 0x80: /* offset */
			reg = op & 0x3f;
			off = (int64_t)cap__uleb(&r) * c->data_align;
			goto set_offset;
		case 0xc0: /* restore */
			reg = op & 0x3f;
			goto restore;
		}
		switch (op) {
		case 0x00: break; /* nop */
		case 0x01: { /* set_loc */
			uint64_t to = cap__encoded(&r, c->fde_enc, 0);
			if (to > target)
				return true;
			loc = to;
			break;
		}
		case 0x02: delta = cap__fixed(&r, 1); goto advance;
		case 0x03: delta = cap__fixed(&r, 2); goto advance;
		case 0x04: delta = cap__fixed(&r, 4); goto advance;
		case 0x05: /* offset_extended */
			reg = cap__uleb(&r);
			off = (int64_t)cap__uleb(&r) * c->data_align;
			goto set_offset;
		case 0x06: reg = cap__uleb(&r); goto restore;
		case 0x07: /* undefined */
		case 0x08: /* same_value */
			reg = cap__uleb(&r);
			if (reg == REG_RBP)
				row->rbp = (struct cap_reg_rule){ op == 0x07 ? R_UNDEF : R_SAME, 0 };
			else if (reg == REG_RA)
				row->ra = (struct cap_reg_rule){ op == 0x07 ? R_UNDEF : R_SAME, 0 };
			break;
		case 0x09: /* register */
			reg = cap__uleb(&r);
			cap__uleb(&r);
			goto other;
		case 0x0a: /* remember_state */
			if (depth == CAP_CFI_STATES)
				return false;
			saved[depth++] = *row;
			break;
		case 0x0b: /* restore_state: the CFA too, as GCC and LLVM emit it around epilogues */
			if (!depth)
				return false;
			*row = saved[--depth];
			break;
		case 0x0c: /* def_cfa */
			row->cfa_reg = (uint8_t)cap__uleb(&r);
			row->cfa_off = (int64_t)cap__uleb(&r);
			row->cfa_expr = false;
			break;
		case 0x0d: row->cfa_reg = (uint8_t)cap__uleb(&r); row->cfa_expr = false; break;
		case 0x0e: row->cfa_off = (int64_t)cap__uleb(&r); break;
		case 0x0f: { /* def_cfa_expression */
			uint64_t len = cap__uleb(&r);
			r.p += len;
			row->cfa_expr = true;
			break;
		}
		case 0x10: /* expression */
		case 0x16: { /* val_expression */
			reg = cap__uleb(&r);
			uint64_t len = cap__uleb(&r);
			r.p += len;
			goto other;
		}
		case 0x11: /* offset_extended_sf */
			reg = cap__uleb(&r);
			off = cap__sleb(&r) * c->data_align;
			goto set_offset;
		case 0x12: /* def_cfa_sf */
			row->cfa_reg = (uint8_t)cap__uleb(&r);
			row->cfa_off = cap__sleb(&r) * c->data_align;
			row->cfa_expr = false;
			break;
		case 0x13: row->cfa_off = cap__sleb(&r) * c->data_align; break;
		case 0x14: /* val_offset */
			reg = cap__uleb(&r);
			cap__uleb(&r);
			goto other;
		case 0x15: /* val_offset_sf */
			reg = cap__uleb(&r);
			cap__sleb(&r);
			goto other;
		case 0x2e: cap__uleb(&r); break; /* GNU_args_size */
		case 0x2f: /* GNU_negative_offset_extended */
			reg = cap__uleb(&r);
			off = -(int64_t)cap__uleb(&r) * c->data_align;
			goto set_offset;
		default:
			return false;
		}
		continue;
	advance:
		loc += delta * c->code_align;
		if (loc > target)
			return true;
		continue;
	set_offset:
		if (reg == REG_RBP)
			row->rbp = (struct cap_reg_rule){ R_OFFSET, off };
		else if (reg == REG_RA)
			row->ra = (struct cap_reg_rule){ R_OFFSET, off };
		continue;
	restore:
		if (reg == REG_RBP)
			row->rbp = initial ? initial->rbp : (struct cap_reg_rule){ R_SAME, 0 };
		else if (reg == REG_RA)
			row->ra = initial ? initial->ra : (struct cap_reg_rule){ R_SAME, 0 };
		continue;
	other:
		if (reg == REG_RBP)
			row->rbp = (struct cap_reg_rule){ R_OTHER, 0 };
		else if (reg == REG_RA)
			row->ra = (struct cap_reg_rule){ R_OTHER, 0 };
		continue;
	}
	return !r.bad;
}

/* The FDE covering `pc`, found in the object's .eh_frame_hdr table. */
static const uint8_t *cap__find_fde(const uint8_t *hdr, uint64_t pc)
{
	if (hdr[0] != 1)
		return NULL;
	uint8_t frame_enc = hdr[1], count_enc = hdr[2], table_enc = hdr[3];
	struct cap_reader r = { hdr + 4, hdr + 4 + 32, false };
	cap__encoded(&r, frame_enc, (uint64_t)(uintptr_t)hdr);
	uint64_t count = cap__encoded(&r, count_enc, (uint64_t)(uintptr_t)hdr);
	if (r.bad || count_enc == PE_OMIT || table_enc != (PE_DATAREL | PE_SDATA4) || count == 0)
		return NULL; /* every linker writes this table form; without it, no binary search */
	const int32_t *table = (const int32_t *)(const void *)r.p;
	uint64_t lo = 0, hi = count;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if ((uint64_t)(uintptr_t)hdr + (uint64_t)(int64_t)table[2 * mid] <= pc)
			lo = mid;
		else
			hi = mid;
	}
	if ((uint64_t)(uintptr_t)hdr + (uint64_t)(int64_t)table[2 * lo] > pc)
		return NULL;
	return hdr + table[2 * lo + 1];
}

static const struct cap_unwind_rule cap__stop = { 0, 0, 0, CAP_UNWIND_STOP };
_Atomic uint32_t cap__base_cfa_off;

/* The FDE of the function holding `key`, read up to its instructions (r),
 * with its CIE and the function's start; false when no table covers it. */
static bool cap__fde_of(uint64_t key, struct cap_reader *r, struct cap_cie *cie, uint64_t *start)
{
	struct dl_find_object fo;
	if (_dl_find_object((void *)(uintptr_t)key, &fo) != 0 || !fo.dlfo_eh_frame)
		return false;
	const uint8_t *fde = cap__find_fde(fo.dlfo_eh_frame, key);
	const uint8_t *id_at;
	if (!fde || !cap__entry(fde, r, &id_at))
		return false;
	uint32_t cie_off = (uint32_t)cap__fixed(&(struct cap_reader){ id_at, id_at + 4, false }, 4);
	if (cie_off == 0 || !cap__parse_cie(id_at - cie_off, cie))
		return false;
	*start = cap__encoded(r, cie->fde_enc, 0);
	uint64_t range = cap__encoded(r, cie->fde_enc & 0x0f, 0);
	return !r->bad && key >= *start && key - *start < range; /* else in no function the table knows */
}

uintptr_t cap__unwind_function_sys(uintptr_t pc)
{
	struct cap_reader r;
	struct cap_cie cie;
	uint64_t start;
	return cap__fde_of(pc, &r, &cie, &start) ? (uintptr_t)start : 0;
}

extern const unsigned char __morestack[]; /* libgcc's */

struct cap_unwind_rule cap__unwind_rule_sys(uint64_t key)
{
	struct cap_reader r;
	struct cap_cie cie;
	uint64_t start;
	if (!cap__fde_of(key, &r, &cie, &start))
		return cap__stop;
	if (start == (uint64_t)(uintptr_t)cap__thread_main)
		return (struct cap_unwind_rule){ 0, 0, 0, CAP_UNWIND_STOP | CAP_UNWIND_BASE };
	if (cie.has_aug_data) {
		uint64_t len = cap__uleb(&r);
		r.p += len;
	}
	struct cap_cfi_row row = { .cfa_reg = REG_RSP, .cfa_off = 8, .rbp = { R_SAME, 0 }, .ra = { R_SAME, 0 } };
	if (!cap__run_cfi(cie.insns, &cie, start, UINT64_MAX, &row, NULL))
		return cap__stop;
	struct cap_cfi_row initial = row;
	if (!cap__run_cfi(r, &cie, start, key, &row, &initial))
		return cap__stop;
	if (row.cfa_expr || (row.cfa_reg != REG_RSP && row.cfa_reg != REG_RBP) || row.cfa_off < INT32_MIN ||
	    row.cfa_off > INT32_MAX)
		return cap__stop;
	if (row.ra.how != R_OFFSET || row.ra.off != -8)
		return cap__stop; /* the outermost frame (undefined), or a return address kept elsewhere */
	struct cap_unwind_rule out = { (int32_t)row.cfa_off, 0, row.cfa_reg == REG_RBP,
					start == (uint64_t)(uintptr_t)__morestack ? CAP_UNWIND_LINK : 0 };
	if (row.rbp.how == R_OFFSET && row.rbp.off <= -16 && row.rbp.off >= INT16_MIN)
		out.rbp_off = (int16_t)row.rbp.off;
	else if (row.rbp.how != R_SAME)
		out.flags |= CAP_UNWIND_RBP_LOST;
	return out;
}

/* cap__on_sysstack(CAP_SYSFN_UNWIND, q): the rule for q->key, cached. */
void cap__unwind_fill_sys(void *arg)
{
	struct cap_unwind_slot *q = arg;
	q->rule = cap__unwind_rule_sys(q->key);
	struct cap_unwind_slot *s = cap__unwind_slot(q->key);
	s->key = 0; /* never a key with another slot's rule, whoever reads */
	s->rule = q->rule;
	s->key = q->key;
}
