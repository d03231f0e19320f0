import { isObjectIdHex, parseObjectId } from '@supergraph/service-kit';
import { decodeCursor, encodeCursor } from '@supergraph/subgraph-kit';
import type { OrderPosition, OrderRecord } from '../db/orders.js';

interface OrderCursor {
  t: number;
  id: string;
}

function isOrderCursor(value: unknown): value is OrderCursor {
  return (
    typeof value === 'object' &&
    value !== null &&
    't' in value &&
    typeof value.t === 'number' &&
    Number.isFinite(value.t) &&
    'id' in value &&
    isObjectIdHex(value.id)
  );
}

export function orderCursor(order: OrderRecord): string {
  return encodeCursor({ t: order.createdAt.getTime(), id: order._id.toHexString() });
}

export function orderPosition(after: string | null | undefined): OrderPosition | undefined {
  // null means the first page; an empty string is a bad cursor like any other.
  if (after == null) return undefined;
  const cursor = decodeCursor(after, isOrderCursor);
  return { createdAt: new Date(cursor.t), id: parseObjectId(cursor.id, 'after') };
}
