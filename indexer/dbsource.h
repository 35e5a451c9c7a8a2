/* dbsource: the knowledge published in PostgreSQL as a build source
 * (build.h's struct build_source, named "@db"): its change mark is the
 * knowledge index_seq, and its changes are store_knowledge_changes'. */
#ifndef DBSOURCE_H
#define DBSOURCE_H

#include "build.h"

struct store;

/* Fills src to read from st (borrowed: it must outlive the builds that use
 * src). Cannot fail. */
void dbsource_init(struct build_source *src, struct store *st);

/* The message prefix a build failure has when the database failed (not
 * the index): "@db: ". */
#define DBSOURCE_ERR_PREFIX "@db: "

#endif
