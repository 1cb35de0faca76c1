"""Domain logic. Resolvers call these; they never talk GraphQL."""
