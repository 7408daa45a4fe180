DROP INDEX turns_documents_idx;
