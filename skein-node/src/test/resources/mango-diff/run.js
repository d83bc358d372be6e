'use strict';
// Runs Mango queries through PouchDB 9.0.0's own engine (pouchdb-find over a memory database) for
// MangoDifferentialTest.
//
//   node run.js input.json output.json        (node_modules found from the working directory)
//
// input:  {"docs": [{"_id": ..., ...}],
//          "runs": [{"key": "q17", "query": {selector, sort, skip, limit, fields},
//                    "patches": ["field-path", ...]}]}
// output: {"results": {"q17": {"ids": [...], "docs": [...]} | {"error": "..."}}}
//
// "patches" names corrections of known PouchDB deviations from CouchDB (PATCHES below). A run with
// no patches is PouchDB exactly as published; the test uses patched runs only to find out which
// known deviation explains a difference. Each patch is a textual edit of the published module,
// applied when it is loaded, and it fails loudly if its target text is not found exactly once.
//
// Sorting: PouchDB refuses to sort on a field without an index ("Cannot sort on field(s) ... when
// using the default index"), as CouchDB does, so a query that sorts on fields other than _id runs
// in a database of its own with an index on exactly its sort fields.

const fs = require('fs');
const path = require('path');
const Module = require('module');

const SELECTOR_CORE = path.join('pouchdb-selector-core', 'lib', 'index.js');
const FIND = path.join('pouchdb-find', 'lib', 'index.js');
const LEVELDB_CORE = path.join('pouchdb-adapter-leveldb-core', 'lib', 'index.js');

// The corrections: each names the file it edits, the exact text and its replacement.
const PATCHES = {
  // getFieldFromDoc stops at the first falsy value and returns it as the value of the deeper path,
  // reads string indexes, and throws on null: read paths the CouchDB way (objects by own key,
  // arrays by a non-negative integer index, anything else is missing). Not encoded: CouchDB's
  // mango_doc:get_field tells a path through a scalar, or through an array by a segment that is no
  // index in range, (bad_path) from a missing key (not_found), and bad_path fails even
  // {"$exists": false}; PouchDB and Skein both read it as missing, so this test cannot see it.
  'field-path': [{
    file: SELECTOR_CORE,
    find: `function getFieldFromDoc(doc, parsedField) {
  var value = doc;
  for (var i = 0, len = parsedField.length; i < len; i++) {
    var key = parsedField[i];
    value = value[key];
    if (!value) {
      break;
    }
  }
  return value;
}`,
    replace: `function getFieldFromDoc(doc, parsedField) {
  var value = doc;
  for (var i = 0, len = parsedField.length; i < len; i++) {
    var key = parsedField[i];
    if (Array.isArray(value)) {
      if (!/^(0|[1-9][0-9]*)$/.test(key) || Number(key) >= value.length) {
        return undefined;
      }
      value = value[Number(key)];
    } else if (value !== null && typeof value === 'object' &&
        Object.prototype.hasOwnProperty.call(value, key)) {
      value = value[key];
    } else {
      return undefined;
    }
  }
  return value;
}`,
  }],
  // mergeAndedSelectors rewrites $and into one merged selector and loses or overrides conditions:
  // evaluate $and as the conjunction it is.
  'and-merge': [{
    file: SELECTOR_CORE,
    find: `  if (isAndInSelector(result, false)) {`,
    replace: `  if (false) {`,
  }, {
    file: SELECTOR_CORE,
    find: `    result['$not'] = mergeAndedSelectors([result['$not']]);`,
    replace: ``,
  }, {
    file: SELECTOR_CORE,
    find: `    if (isCombinationalField(field)) {
      return matchCominationalSelector(field, matcher, doc);
    }`,
    replace: `    if (field === '$and') {
      return matcher.every(function (andMatchers) {
        return rowFilter(doc, andMatchers, Object.keys(andMatchers));
      });
    }
    if (isCombinationalField(field)) {
      return matchCominationalSelector(field, matcher, doc);
    }`,
  }],
  // matchSelector takes any falsy literal (0, false, "", null) below the top level as "no
  // condition", and compares other literals with ===: a literal is an implicit $eq.
  'implicit-eq': [{
    file: SELECTOR_CORE,
    find: `  if (!matcher) {
    // no filtering necessary; this field is just needed for sorting
    return true;
  }`,
    replace: `  if (matcher === undefined) {
    return true;
  }
  if (matcher === null || typeof matcher !== 'object') {
    return match('$eq', doc, matcher, parsedField, docFieldValue);
  }`,
  }],
  // $ne matches a missing field: CouchDB's $ne requires the field.
  'ne-missing': [{
    file: SELECTOR_CORE,
    find: `  '$ne': function (doc, userValue, parsedField, docFieldValue) {
    return userValue.every(`,
    replace: `  '$ne': function (doc, userValue, parsedField, docFieldValue) {
    return fieldIsNotUndefined(docFieldValue) && userValue.every(`,
  }],
  // $in, $nin (and $mod, $size, $regex, which no null can satisfy anyway) take a null field as
  // missing: in CouchDB a null field exists.
  'null-exists': [{
    file: SELECTOR_CORE,
    find: `function fieldExists(docFieldValue) {
  return typeof docFieldValue !== 'undefined' && docFieldValue !== null;
}`,
    replace: `function fieldExists(docFieldValue) {
  return typeof docFieldValue !== 'undefined';
}`,
  }],
  // $elemMatch and $allMatch decide from the first element whether the sub-selector is a row
  // filter (when it is an object) or a condition on the element: CouchDB applies the sub-selector
  // to every element, operator conditions to the element itself and field conditions to its fields.
  'elem-match': [{
    file: SELECTOR_CORE,
    find: `    if (typeof docFieldValue[0] === 'object' &&  docFieldValue[0] !== null) {
      return docFieldValue.some(function (val) {
        return rowFilter(val, userValue, Object.keys(userValue));
      });
    }

    return docFieldValue.some(function (val) {
      return matchSelector(userValue, doc, parsedField, val);
    });`,
    replace: `    return docFieldValue.some(function (val) {
      return matchElement(val, userValue, doc, parsedField);
    });`,
  }, {
    file: SELECTOR_CORE,
    find: `    if (typeof docFieldValue[0] === 'object' &&  docFieldValue[0] !== null) {
      return docFieldValue.every(function (val) {
        return rowFilter(val, userValue, Object.keys(userValue));
      });
    }

    return docFieldValue.every(function (val) {
      return matchSelector(userValue, doc, parsedField, val);
    });`,
    replace: `    return docFieldValue.every(function (val) {
      return matchElement(val, userValue, doc, parsedField);
    });`,
  }, {
    file: SELECTOR_CORE,
    find: `function fieldExists(docFieldValue) {`,
    replace: `function matchElement(val, selector, doc, parsedField) {
  return Object.keys(selector).every(function (key) {
    var matcher = selector[key];
    if (key === '$and') {
      return matcher.every(function (andMatchers) {
        return rowFilter(val, andMatchers, Object.keys(andMatchers));
      });
    }
    if (isCombinationalField(key)) {
      return matchCominationalSelector(key, matcher, val);
    }
    if (key.indexOf('$') === 0) {
      return match(key, doc, matcher, parsedField, val);
    }
    var subField = parseField(key);
    return matchSelector(matcher, val, subField, getFieldFromDoc(val, subField));
  });
}

function fieldExists(docFieldValue) {`,
  }],
  // $not and $nor negate the whole sub-selector as PouchDB evaluates it, so a document without the
  // field matches. CouchDB pushes negations down to the field conditions (mango_selector.erl,
  // norm_negations/negate) and a field condition fails on a missing field unless it is exactly
  // {"$exists": false}: $not X is negate(X), $nor [A, B] is $and [negate(A), negate(B)]; negate of
  // an $and (also the implicit one of several keys, or of several operators on one field) is the
  // $or of the negated parts, of an $or the $and of them; negate($not X) is X, negate($nor L) is
  // $or L; $lt/$gte, $lte/$gt, $eq/$ne, $in/$nin swap, $exists b becomes $exists !b, and any other
  // operator becomes {"$not": {op}} on the same field. Nested objects without operators are paths.
  // The leaves are evaluated by PouchDB's own operators (and literals by its matchSelector), so the
  // other corrections still apply to them; an $or made here is evaluated by PouchDB's $or. A shape
  // this does not encode (an empty selector, a field-level combinator, a literal array or {}) throws.
  'negation': [{
    file: SELECTOR_CORE,
    find: `  if (field === '$not') {
    return !rowFilter(doc, matcher, Object.keys(matcher));
  }

  //\`$nor\`
  return !matcher.find(function (orMatchers) {
    return rowFilter(doc, orMatchers, Object.keys(orMatchers));
  });`,
    replace: `  if (field === '$not') {
    return negatedSelector(doc, matcher);
  }

  // $nor [A, B] is $and [negate(A), negate(B)]
  return matcher.every(function (norMatchers) {
    return negatedSelector(doc, norMatchers);
  });
}

function notEncoded(what) {
  return new Error('the negation correction does not encode ' + what);
}

// Whether negate(selector) matches the document; the keys of the selector are an implicit $and.
function negatedSelector(doc, selector) {
  var keys = Object.keys(selector);
  if (keys.length === 0) {
    throw notEncoded('an empty selector');
  }
  return keys.some(function (key) {
    var matcher = selector[key];
    if (key === '$and') {
      // negate($and L) = $or [negate(A) for A in L], evaluated by PouchDB's $or
      return matchCominationalSelector('$or', matcher.map(function (s) {
        return { $not: s };
      }), doc);
    }
    if (key === '$or') {
      return matcher.every(function (s) {
        return negatedSelector(doc, s);
      });
    }
    if (key === '$not') {
      return rowFilter(doc, matcher, Object.keys(matcher));
    }
    if (key === '$nor') {
      return matchCominationalSelector('$or', matcher, doc);
    }
    if (key.indexOf('$') === 0) {
      throw notEncoded(key + ' applied to a whole selector');
    }
    return negatedField(doc, parseField(key), matcher);
  });
}

// Whether negate({field: matcher}) matches the document.
function negatedField(doc, parsedField, matcher) {
  var value = getFieldFromDoc(doc, parsedField);
  if (matcher === null || typeof matcher !== 'object') {
    // a literal, {"$eq": literal}: its negation is $ne, on a present field
    return typeof value !== 'undefined' && !matchSelector(matcher, doc, parsedField, value);
  }
  var keys = Object.keys(matcher);
  if (Array.isArray(matcher) || keys.length === 0) {
    throw notEncoded('the literal ' + JSON.stringify(matcher));
  }
  return keys.some(function (key) {
    var arg = matcher[key];
    if (key.indexOf('$') !== 0) {
      return negatedField(doc, parsedField.concat(parseField(key)), arg);
    }
    if (typeof value === 'undefined') {
      // only $exists: false holds on a missing field, and it is the negation of $exists: true
      return key === '$exists' && arg === true;
    }
    return negatedOperator(doc, parsedField, value, key, arg);
  });
}

var NEGATED_OPERATORS = {
  '$gt': '$lte', '$gte': '$lt', '$lt': '$gte', '$lte': '$gt', '$in': '$nin', '$nin': '$in',
};

// Whether negate({field: {operator: arg}}) holds for the value of a present field.
function negatedOperator(doc, parsedField, value, operator, arg) {
  if (NEGATED_OPERATORS[operator]) {
    return match(NEGATED_OPERATORS[operator], doc, arg, parsedField, value);
  }
  if (operator === '$eq') {
    return match('$ne', doc, [arg], parsedField, value);
  }
  if (operator === '$exists') {
    return match('$exists', doc, !arg, parsedField, value);
  }
  if (operator === '$ne' || operator === '$regex') {
    // massageSelector made their operands lists, which are ANDed: the negation holds when the
    // negation of one of them does
    if (!Array.isArray(arg)) {
      throw notEncoded(operator + ' with the operand ' + JSON.stringify(arg));
    }
    return arg.some(function (one) {
      return operator === '$ne' ?
        match('$eq', doc, one, parsedField, value) :
        !match('$regex', doc, [one], parsedField, value);
    });
  }
  // {"$not": {operator: arg}}
  return !match(operator, doc, arg, parsedField, value);`,
  }],
  // An empty $or matches nothing (PouchDB's $or is Array.some, and the planner short-circuits a
  // selector with an empty $or at the top): since CouchDB 3.4 an empty $or matches every document.
  'empty-or': [{
    file: SELECTOR_CORE,
    find: `  if (field === '$or') {
    return matcher.some(function (orMatchers) {`,
    replace: `  if (field === '$or') {
    if (matcher.length === 0) {
      return true;
    }
    return matcher.some(function (orMatchers) {`,
  }, {
    file: FIND,
    find: `  return values.some(function (val) {
    return typeof val === 'object' && Object.keys(val).length === 0;
  });`,
    replace: `  const keys = Object.keys(selector);
  return values.some(function (val, i) {
    return keys[i] !== '$or' && typeof val === 'object' && Object.keys(val).length === 0;
  });`,
  }],
  // normalizeArrayOperators wraps the operand of $ne in a list (the list mergeNe builds from an
  // $and), unless it is already an array: so {"$ne": [x, y]} means "neither x nor y". An array
  // operand is one value: wrap every operand the user gave, not the lists mergeNe built.
  'ne-array': [{
    file: SELECTOR_CORE,
    find: `function mergeNe(value, fieldMatchers) {
  if ('$ne' in fieldMatchers) {
    // there are many things this could "not" be
    fieldMatchers.$ne.push(value);
  } else { // doesn't exist yet
    fieldMatchers.$ne = [value];
  }
}`,
    replace: `var mergedNeLists = new WeakSet();
function mergeNe(value, fieldMatchers) {
  if ('$ne' in fieldMatchers) {
    // there are many things this could "not" be
    fieldMatchers.$ne.push(value);
  } else { // doesn't exist yet
    fieldMatchers.$ne = [value];
    mergedNeLists.add(fieldMatchers.$ne);
  }
}`,
  }, {
    file: SELECTOR_CORE,
    find: `    if (Array.isArray(matcher)) {
      matcher.forEach(function (matcherItem) {`,
    replace: `    if (field === '$ne' && !mergedNeLists.has(matcher)) {
      selector.$ne = [matcher];
    } else if (Array.isArray(matcher)) {
      matcher.forEach(function (matcherItem) {`,
  }],
  // The memory (leveldb) adapter's allDocs tests its key, startkey and endkey for truth, so a key
  // of "" is no key: {"_id": ""} reads every document (and {"_id": {"$lte": ""}} too). Test them for
  // presence, as CouchDB's _all_docs does.
  'all-docs-key': [{
    file: LEVELDB_CORE,
    find: `        if (opts.startkey) {
          readstreamOpts.gte = opts.startkey;
        }
        if (opts.endkey) {
          readstreamOpts.lte = opts.endkey;
        }
        if (opts.key) {
          readstreamOpts.gte = readstreamOpts.lte = opts.key;
        }`,
    replace: `        if (typeof opts.startkey !== 'undefined') {
          readstreamOpts.gte = opts.startkey;
        }
        if (typeof opts.endkey !== 'undefined') {
          readstreamOpts.lte = opts.endkey;
        }
        if (typeof opts.key !== 'undefined') {
          readstreamOpts.gte = readstreamOpts.lte = opts.key;
        }`,
  }],
  // $all: [] matches every array, and $all: [X] with X an array does not match a field equal to X:
  // CouchDB's $all matches nothing with no argument, and matches a field equal to a lone array
  // argument.
  'all-args': [{
    file: SELECTOR_CORE,
    find: `  '$all': function (doc, userValue, parsedField, docFieldValue) {
    return Array.isArray(docFieldValue) && arrayContainsAllValues(docFieldValue, userValue);`,
    replace: `  '$all': function (doc, userValue, parsedField, docFieldValue) {
    if (userValue.length === 0) {
      return false;
    }
    if (userValue.length === 1 && Array.isArray(userValue[0]) && Array.isArray(docFieldValue) &&
        pouchdbCollate.collate(userValue[0], docFieldValue) === 0) {
      return true;
    }
    return Array.isArray(docFieldValue) && arrayContainsAllValues(docFieldValue, userValue);`,
  }],
};

let activePatches = [];

const originalJsLoader = Module._extensions['.js'];
Module._extensions['.js'] = function (module, filename) {
  const edits = [];
  for (const name of activePatches) {
    for (const edit of PATCHES[name]) {
      if (filename.endsWith(edit.file)) {
        edits.push([name, edit]);
      }
    }
  }
  if (edits.length === 0) {
    return originalJsLoader(module, filename);
  }
  let source = fs.readFileSync(filename, 'utf8');
  for (const [name, edit] of edits) {
    const at = source.indexOf(edit.find);
    if (at < 0 || source.indexOf(edit.find, at + 1) >= 0) {
      throw new Error('patch ' + name + ' does not apply to ' + filename +
        ' (its text must occur exactly once; is PouchDB still 9.0.0?)');
    }
    source = source.slice(0, at) + edit.replace + source.slice(at + edit.find.length);
  }
  module._compile(source, filename);
};

// Loads a fresh copy of the PouchDB modules with the given patches.
function loadPouch(patches) {
  for (const name of patches) {
    if (!PATCHES[name]) {
      throw new Error('unknown patch ' + name);
    }
  }
  for (const key of Object.keys(require.cache)) {
    if (/[\\/]node_modules[\\/]pouchdb-/.test(key)) {
      delete require.cache[key];
    }
  }
  activePatches = patches;
  try {
    const modules = path.join(process.cwd(), 'node_modules');
    const load = (name) => require(require.resolve(name, { paths: [modules] }));
    return load('pouchdb-core')
      .plugin(load('pouchdb-adapter-memory'))
      .plugin(load('pouchdb-find'));
  } finally {
    activePatches = [];
  }
}

function sortFields(query) {
  if (!Array.isArray(query.sort)) {
    return [];
  }
  return query.sort.map((s) => (typeof s === 'string' ? s : Object.keys(s)[0]));
}

let dbCounter = 0;

async function main() {
  const [inputFile, outputFile] = process.argv.slice(2);
  const input = JSON.parse(fs.readFileSync(inputFile, 'utf8'));
  const byVariant = new Map();
  for (const run of input.runs) {
    const variant = JSON.stringify([...run.patches].sort());
    if (!byVariant.has(variant)) {
      byVariant.set(variant, []);
    }
    byVariant.get(variant).push(run);
  }
  const results = {};
  for (const [variant, runs] of byVariant) {
    const PouchDB = loadPouch(JSON.parse(variant));
    const dbs = new Map(); // sort fields (JSON) -> database indexed on them
    const dbFor = async (fields) => {
      const key = JSON.stringify(fields);
      if (!dbs.has(key)) {
        const db = new PouchDB('mango-diff-' + dbCounter++, { adapter: 'memory' });
        await db.bulkDocs(input.docs.map((d) => JSON.parse(JSON.stringify(d))));
        if (fields.length > 0) {
          await db.createIndex({ index: { fields } });
        }
        dbs.set(key, db);
      }
      return dbs.get(key);
    };
    for (const run of runs) {
      const fields = sortFields(run.query);
      const indexed = fields.every((f) => f === '_id') ? [] : fields;
      try {
        const db = await dbFor(indexed);
        const query = JSON.parse(JSON.stringify(run.query));
        // The ids are always needed: ask for _id too, and take it out again if not asked for.
        const askedForId = !query.fields || query.fields.includes('_id');
        if (!askedForId) {
          query.fields.push('_id');
        }
        const res = await db.find(query);
        results[run.key] = {
          ids: res.docs.map((d) => d._id),
          docs: query.fields ? res.docs.map((d) => {
            if (!askedForId) {
              delete d._id;
            }
            return d;
          }) : null,
        };
      } catch (e) {
        results[run.key] = { error: String((e && (e.message || e.reason)) || e) };
      }
    }
    for (const db of dbs.values()) {
      await db.destroy();
    }
  }
  fs.writeFileSync(outputFile, JSON.stringify({ results }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
