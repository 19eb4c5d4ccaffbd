/*
 * locale.c - finding a locale of the generated table (locale.h).
 * Pure lookups in constant data: thread-safe, allocates nothing.
 */
#include <string.h>

#include "locale.h"

const flocale *flocale_find(const char *name)
{
	if (!name)
		return &flocale_table[0];
	for (size_t i = 0; i < flocale_count; i++)
		if (strcmp(flocale_table[i].num.name, name) == 0)
			return &flocale_table[i];
	return NULL;
}
