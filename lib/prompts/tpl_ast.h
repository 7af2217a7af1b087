/*
 * The compiled template (private to lib/prompts): a flat array of nodes in document
 * order. A section node's body is the nodes (index, end); nested sections skip over
 * their own bodies through `end`, so walking never needs a tree.
 */
#ifndef MLOPS_LIB_PROMPTS_TPL_AST_H
#define MLOPS_LIB_PROMPTS_TPL_AST_H

#include "prompts.h"

enum tpl_kind {
    TPL_TEXT = 0,  /* literal text */
    TPL_VAR,       /* {{name}} or {{name|default}} */
    TPL_SECTION,   /* {{#name}} ... {{/name}} */
    TPL_INVERTED,  /* {{^name}} ... {{/name}} */
    TPL_INCLUDE    /* {{> ref}} */
};

typedef struct tpl_node {
    uint8_t kind;
    bool has_default;
    bool in_section; /* inside some section: not a required variable */
    uint32_t line, col;
    uint32_t end;    /* sections: index of the first node after the body */
    uint32_t off, len;          /* TEXT: text; others: the name or reference */
    uint32_t def_off, def_len;  /* VAR default */
} tpl_node;

struct mlops__tpl {
    char *src;       /* the text the offsets point into (owned copy, NUL-terminated) */
    size_t src_len;
    tpl_node *nodes;
    uint32_t n;
    char *what;      /* name for messages */
};

#endif
