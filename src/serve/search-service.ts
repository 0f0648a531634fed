/**
 * alexnet.v1.ImageSearch: upsert, search, get, delete and describe the index of fc7 vectors, as
 * plain async functions that throw typed errors (status.ts maps them). Images are embedded by the
 * shared decode-and-infer step, ten crops, exactly as Embed does, so a stored image and the same
 * image as a query are at distance 0. The index opens on first use (its health is checked at
 * start: index-health.ts); one holding another model's vectors answers FAILED_PRECONDITION to
 * upserts, searches and gets (delete and describe still work, so it can be emptied), and once
 * empty the next upsert re-binds it to the served model. An index that cannot be used answers
 * with its cause (index-availability.ts). The AlexNet service serves on regardless.
 */
import { NotFoundError } from '../errors.js';
import type { ModelFiles } from '../model/model-files.js';
import { modelRef } from './alexnet-service.js';
import type { CallContext } from './call-context.js';
import { reportFailure } from './call-log.js';
import type { DeleteRequest__Output } from './generated/alexnet/v1/DeleteRequest.js';
import type { DeleteResponse } from './generated/alexnet/v1/DeleteResponse.js';
import type { GetRequest__Output } from './generated/alexnet/v1/GetRequest.js';
import type { GetResponse } from './generated/alexnet/v1/GetResponse.js';
import type { ImageSearchHandlers } from './generated/alexnet/v1/ImageSearch.js';
import type { IndexDescription } from './generated/alexnet/v1/IndexDescription.js';
import type { ListRequest__Output } from './generated/alexnet/v1/ListRequest.js';
import type { ListResponse } from './generated/alexnet/v1/ListResponse.js';
import type { SearchBatchRequest__Output } from './generated/alexnet/v1/SearchBatchRequest.js';
import type { SearchBatchResponse } from './generated/alexnet/v1/SearchBatchResponse.js';
import type { SearchRequest__Output } from './generated/alexnet/v1/SearchRequest.js';
import type { SearchResponse } from './generated/alexnet/v1/SearchResponse.js';
import type { UpsertRequest__Output } from './generated/alexnet/v1/UpsertRequest.js';
import type { UpsertResponse } from './generated/alexnet/v1/UpsertResponse.js';
import { inferImage } from './image-inference.js';
import { explainIndexError } from './index/index-availability.js';
import { indexHealth } from './index/index-health.js';
import { mismatchError, sameModel } from './index/index-identity.js';
import { displayLocation, identityOf, openVectorIndex } from './index/open-vector-index.js';
import type { IndexIdentity, VectorIndex } from './index/vector-index.js';
import type { Served } from './model-host.js';
import { loadPackageDefinition, SEARCH_PROTO_FILE, SEARCH_SERVICE_NAME, searchClientConstructor } from './proto.js';
import { checkBatch, checkId, checkIds, checkK, checkLabels, checkMaxDistance, checkUri, checkVector, idAfter, pageSize, pageToken, toIndexFilter } from './search-validation.js';
import type { ServiceDescriptor, ServingEnv } from './service-descriptor.js';
import { BadRequestError } from './status.js';
import { streamAdapter } from './stream-adapter.js';
import { unaryAdapter } from './unary-adapter.js';

export function searchHandlers(env: ServingEnv) {
  const location = env.index;
  const health = indexHealth(location, env.log);
  let opening: Promise<VectorIndex> | undefined;
  /** One rebind at a time: the upserts of one `index add` arrive together. */
  let rebinding: Promise<boolean> | undefined;
  /** The index, opened once (for the model serving then, if new); a failed open is tried again by the next call. */
  const opened = () => {
    opening ??= openVectorIndex(location, identityOf(env.model)).catch((e: unknown) => {
      opening = undefined;
      throw e;
    });
    return opening;
  };
  /** Any index, for calls that do not compare vectors (delete, describe). */
  const index = (): Promise<VectorIndex> => opened();
  /**
   * The index, if the model of the version the call holds made its vectors (a reload to another
   * checkpoint makes it refuse). One of another model that is empty takes this model's vectors
   * from the first write (`write`), and answers as empty (undefined) to a read until then.
   */
  const indexFor = async (model: ModelFiles, write: boolean): Promise<VectorIndex | undefined> => {
    const ix = await opened();
    const stored = await ix.storedIdentity();
    const served = identityOf(model);
    if (sameModel(stored, served)) return ix;
    if (!write && (await ix.describe()).count === 0) return undefined;
    // A rebind under way may be for the other version of a reload: what counts is what it left.
    if (write && (await (rebinding ??= rebindOnce(ix, stored, served))) && sameModel(await ix.storedIdentity(), served)) return ix;
    throw mismatchError(await ix.storedIdentity(), served, displayLocation(location));
  };
  const rebindOnce = async (ix: VectorIndex, stored: IndexIdentity, served: IndexIdentity): Promise<boolean> => {
    try {
      const done = await ix.rebind(served);
      if (done) env.log.info('the empty index now holds the served model\'s vectors', { index: displayLocation(location), from: stored.modelFingerprint, to: served.modelFingerprint });
      return done;
    } finally {
      rebinding = undefined;
    }
  };
  /** Errors saying the index cannot be used become their status (and its health); the others pass as they are. */
  const guard =
    <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      f(...args).catch((e: unknown) => {
        const explained = explainIndexError(e, location);
        health.failed(explained);
        throw explained;
      });

  /** The vector and top-1 class of an image, as Embed computes them. */
  const embedImage = async (served: Served, bytes: Buffer | undefined, context: CallContext) => {
    const r = await inferImage(env, served, bytes, 'ten', context);
    let top = 0;
    for (let i = 1; i < r.probabilities.length; i++) if (r.probabilities[i]! > r.probabilities[top]!) top = i;
    return { vector: r.embedding, predictedClass: served.model.metadata.labels[top] ?? String(top) };
  };

  const search = (req: SearchRequest__Output, context: CallContext): Promise<SearchResponse> => env.withModel((served) => searchWith(served, req, context));
  const searchWith = async (served: Served, req: SearchRequest__Output, context: CallContext): Promise<SearchResponse> => {
    const k = checkK(req.k);
    const filter = toIndexFilter(req.filter);
    const maxDistance = checkMaxDistance(req.max_distance);
    const ix = await indexFor(served.model, false);
    if (!ix) return { hits: [], model: modelRef(served.model), error: null };
    let query: Float32Array;
    const excludeIds: string[] = [];
    if (req.query === 'image') query = (await embedImage(served, req.image, context)).vector;
    else if (req.query === 'vector') query = checkVector(req.vector?.values, served.model.metadata.embeddingDimension);
    else if (req.query === 'id') {
      const id = checkId(req.id, 'the query id');
      const [stored] = await ix.get([id]);
      if (!stored) throw new NotFoundError(`no item with id ${JSON.stringify(id)} in the index: upsert it first, or query by image or vector`);
      query = stored.vector;
      if (req.exclude_self) excludeIds.push(id);
    } else throw new BadRequestError('the query is empty: set one of image, vector or id');
    const hits = await ix.search(query, k, { ...(filter ? { filter } : {}), ...(maxDistance !== undefined ? { maxDistance } : {}), excludeIds });
    return { hits: hits.map((h) => ({ id: h.id, distance: h.distance, uri: h.uri, labels: h.labels, predicted_class: h.predictedClass })), model: modelRef(served.model), error: null };
  };

  return {
    upsert: guard(
      (req: UpsertRequest__Output, context: CallContext): Promise<UpsertResponse> =>
      env.withModel(async (served) => {
        const id = checkId(req.id);
        const labels = checkLabels(req.labels ?? {});
        const uri = checkUri(req.uri);
        const ix = (await indexFor(served.model, true))!;
        let item: { vector: Float32Array; predictedClass: string };
        if (req.source === 'image') item = await embedImage(served, req.image, context);
        else if (req.source === 'vector') item = { vector: checkVector(req.vector?.values, served.model.metadata.embeddingDimension), predictedClass: '' };
        else throw new BadRequestError(`item ${JSON.stringify(id)} has neither image nor vector: set one of them`);
        // The index may have been re-bound to another version's model while this image was embedded.
        await ix.upsert([{ id, vector: item.vector, uri, labels, predictedClass: item.predictedClass }], identityOf(served.model));
        return { id, ok: true, error: null, predicted_class: item.predictedClass };
      }),
    ),
    search: guard(search),
    async searchBatch(req: SearchBatchRequest__Output, context: CallContext): Promise<SearchBatchResponse> {
      checkBatch(req.queries.length);
      const started = performance.now();
      // Each query answers its own error; the batch fails only as a whole request.
      const results = await Promise.all(
        req.queries.map((q) =>
          guard(search)(q, context).catch((e: unknown) => {
            const s = reportFailure(env.log, 'SearchBatch', e, started, context);
            return { hits: [], model: modelRef(env.model), error: { code: s.code, message: s.details } };
          }),
        ),
      );
      return { results };
    },
    get: guard(async (req: GetRequest__Output): Promise<GetResponse> => {
      const ids = checkIds(req.ids);
      const ix = await indexFor(env.model, false);
      const items = ix ? await ix.get(ids) : ids.map(() => undefined);
      const missing = ids.filter((_, i) => !items[i]);
      if (missing.length > 0 && !req.allow_missing) throw new NotFoundError(`not in the index: ${missing.slice(0, 5).map((id) => JSON.stringify(id)).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} (set allow_missing to get the others)`);
      return {
        items: ids.map((id, i) => {
          const it = items[i];
          return it ? { id, found: true, vector: { values: Array.from(it.vector) }, uri: it.uri, labels: it.labels, predicted_class: it.predictedClass } : { id, found: false };
        }),
      };
    }),
    /** Any index's items, another model's too (to see what to delete). */
    list: guard(async (req: ListRequest__Output): Promise<ListResponse> => {
      const size = pageSize(req.page_size);
      const filter = toIndexFilter(req.filter);
      const items = await (await index()).list(idAfter(req.page_token), size, filter);
      return {
        items: items.map((it) => ({ id: it.id, found: true, uri: it.uri, labels: it.labels, predicted_class: it.predictedClass })),
        next_page_token: items.length === size ? pageToken(items[items.length - 1]!.id) : '',
      };
    }),
    delete: guard(async (req: DeleteRequest__Output): Promise<DeleteResponse> => ({ deleted: await (await index()).delete(checkIds(req.ids)) })),
    describeIndex: guard(async (): Promise<IndexDescription> => {
      const ix = await index();
      await ix.storedIdentity(); // another replica may have re-bound a shared index
      const d = await ix.describe();
      const served = env.model;
      return {
        count: d.count,
        dimension: d.dimension,
        metric: d.metric,
        model: { name: d.modelName, version: d.modelFingerprint },
        indexed: d.indexed,
        unindexed: d.unindexed,
        backend: d.backend,
        location: displayLocation(location),
        served_model: { name: served.name, version: served.fingerprint },
        // An empty index takes the served model's vectors from the next upsert.
        matches_served_model: d.count === 0 || sameModel(d, identityOf(served)),
      };
    }),
    /** Check the index now and tell its health from here on (the server's, set per service). */
    start: (setServing: (serving: boolean) => void) => health.start(setServing),
    async close(): Promise<void> {
      health.stop();
      const ix = await opening?.catch(() => undefined);
      await ix?.close();
    },
  };
}

export function searchService(env: ServingEnv): ServiceDescriptor {
  const h = searchHandlers(env);
  const failed = (req: UpsertRequest__Output, s: { code: number; details: string }): UpsertResponse => ({ id: req.id ?? '', ok: false, error: { code: s.code, message: s.details }, predicted_class: '' });
  const implementation: ImageSearchHandlers = {
    Upsert: streamAdapter(env, 'Upsert', h.upsert, failed),
    Search: unaryAdapter(env, 'Search', h.search),
    SearchBatch: unaryAdapter(env, 'SearchBatch', h.searchBatch),
    Get: unaryAdapter(env, 'Get', h.get),
    Delete: unaryAdapter(env, 'Delete', h.delete),
    DescribeIndex: unaryAdapter(env, 'DescribeIndex', h.describeIndex),
    List: unaryAdapter(env, 'List', h.list),
  };
  return { name: SEARCH_SERVICE_NAME, definition: searchClientConstructor().service, implementation, packageDefinition: loadPackageDefinition(SEARCH_PROTO_FILE), start: h.start, close: h.close };
}
