/**
 * The data of the federation scenario: the shapes of the well-known public
 * GraphQL gateways benchmark (accounts, inventory, products, reviews; 6 users,
 * 9 products, 11 reviews), written here. Unlike that benchmark's subgraphs,
 * every subgraph tells the same story (a review's author is the user who wrote
 * it, a user's reviews are the ones they wrote), so a gateway's answer does
 * not depend on which subgraph its planner asks for a shared field, and the
 * answers of every gateway and of the direct server can be compared byte for
 * byte.
 */
export interface User {
  id: string;
  name: string;
  username: string;
  birthday: number;
}

export interface Product {
  upc: string;
  name: string;
  price: number;
  weight: number;
}

export interface Review {
  id: string;
  body: string;
  authorId: string;
  productUpc: string;
}

export const users: User[] = [
  ['Ada Lovelace', 'ada'],
  ['Alan Turing', 'alan'],
  ['Grace Hopper', 'grace'],
  ['Edsger Dijkstra', 'edsger'],
  ['Barbara Liskov', 'barbara'],
  ['Donald Knuth', 'donald'],
].map(([name, username], i) => ({ id: String(i + 1), name: name!, username: username!, birthday: 1_234_567_890 + i * 86_400 }));

export const products: Product[] = [
  ['Table', 899, 100],
  ['Couch', 1299, 1000],
  ['Glass', 15, 20],
  ['Chair', 499, 100],
  ['TV', 1299, 1000],
  ['Lamp', 6999, 300],
  ['Grill', 3999, 2000],
  ['Fridge', 100000, 6000],
  ['Sofa', 9999, 800],
].map(([name, price, weight], i) => ({ upc: String(i + 1), name: name as string, price: price as number, weight: weight as number }));

export const inStock: Record<string, boolean> = { 1: true, 2: false, 3: false, 4: false, 5: true, 6: true, 7: true, 8: false, 9: true };

/** inventory's @requires(fields: "price weight") field. */
export function shippingEstimate(price: number | null | undefined, weight: number | null | undefined): number | null {
  if (price == null) return null;
  if (price > 1000) return 0;
  return weight == null ? null : Math.floor(weight / 2);
}

const WORDS = 'the gateway joins four services into one graph and answers every field from the service that owns it while the client sees a single schema with stable types and partial data when a backend fails'.split(' ');

/** Deterministic text of about `length` characters (review bodies of 140 to 900 characters, as in the original). */
function text(seed: number, length: number): string {
  const out: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const word = WORDS[(seed * 7 + i * 13) % WORDS.length]!;
    out.push(word);
    size += word.length + 1;
  }
  const sentence = out.join(' ');
  return `${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`;
}

const REVIEWS: Array<[upc: string, author: string, length: number]> = [
  ['1', '1', 450],
  ['1', '2', 300],
  ['1', '3', 280],
  ['1', '4', 140],
  ['2', '5', 450],
  ['2', '6', 300],
  ['2', '1', 280],
  ['2', '2', 140],
  ['3', '3', 140],
  ['4', '4', 140],
  ['4', '5', 900],
];

export const reviews: Review[] = REVIEWS.map(([productUpc, authorId, length], i) => ({ id: String(i + 1), body: text(i + 1, length), authorId, productUpc }));

export const userById = new Map(users.map((u) => [u.id, u]));
export const productByUpc = new Map(products.map((p) => [p.upc, p]));
export const reviewById = new Map(reviews.map((r) => [r.id, r]));
export const reviewsByAuthor = (id: string): Review[] => reviews.filter((r) => r.authorId === id);
export const reviewsOfProduct = (upc: string): Review[] => reviews.filter((r) => r.productUpc === upc);
export const topProducts = (first: number): Product[] => products.slice(0, Math.max(0, first));

/** The benchmark's query, as the public benchmark's k6 script sends it. */
export const FEDERATION_QUERY = /* GraphQL */ `
fragment User on User {
  id
  username
  name
}

fragment Review on Review {
  id
  body
}

fragment Product on Product {
  inStock
  name
  price
  shippingEstimate
  upc
  weight
}

query TestQuery {
  users {
    ...User
    reviews {
      ...Review
      product {
        ...Product
        reviews {
          ...Review
          author {
            ...User
            reviews {
              ...Review
              product {
                ...Product
              }
            }
          }
        }
      }
    }
  }
  topProducts {
    ...Product
    reviews {
      ...Review
      author {
        ...User
        reviews {
          ...Review
          product {
            ...Product
          }
        }
      }
    }
  }
}
`;
